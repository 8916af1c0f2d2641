"""Data parallel training over several processes: PyTorch's own engine (torchrun and
DistributedDataParallel), not one of encore's.

`encore train --nproc N` starts N copies of itself on this machine through torchrun's
launcher; across machines a user runs torchrun directly (README). Each process knows it
is one of several from the variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK).

Every process builds the whole epoch's plan from the same seed and trains on its own
lanes of each batch; DDP averages the gradients. Each process's loss is weighted by its
share of the batch's targets, so the average is the single process's gradient exactly
(up to the order of float sums), whatever the split. Rank 0 validates and writes the
checkpoints; the others wait for it. Decisions one clock or one signal makes (stop, save
now, time is up) are summed across the processes after every step, so all of them take
them at the same step and none is left waiting in a collective.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta

from export.errors import TrainConfigError, TrainingProcessError

# Long enough for rank 0's validation while the others wait at the barrier.
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int | None = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def spread(self) -> bool:
        return self.world > 1

    def share(self, lanes: int) -> slice:
        """This process's lanes of a batch of `lanes`: consecutive, as even as they go
        (none for some, where a seed arch's last batch is short)."""
        return slice(lanes * self.rank // self.world, lanes * (self.rank + 1) // self.world)

    def check_share(self, lanes: int, why: str = "") -> None:
        """Every process needs a lane of each stream batch, or its carried state has no lane."""
        if lanes < self.world:
            raise TrainConfigError(f"{lanes} lane{'s' if lanes != 1 else ''}{why} cannot be shared among "
                                   f"{self.world} processes; use --batch {self.world} or more, or fewer processes")


def from_environment() -> Ranks:
    """One of several processes torchrun started, or the only one."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return Ranks()
    return Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))


def join(device) -> str:
    """Into the process group torchrun set up: NCCL between GPUs, gloo between CPUs."""
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return backend


def leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def agree(device, loss: float, *flags: bool) -> tuple[float, list[bool]]:
    """The batch's loss (each process gives its weighted part) and flags any process
    raised, the same on every process."""
    import torch
    import torch.distributed as dist

    values = torch.tensor([loss, *map(float, flags)], dtype=torch.float64, device=device)
    dist.all_reduce(values)
    total = values.tolist()
    return total[0], [flag > 0 for flag in total[1:]]


def gather_lanes(carry):
    """The LSTM state of every lane, in lane order (a checkpoint holds the whole batch's,
    so it resumes under any number of processes)."""
    import torch
    import torch.distributed as dist

    if carry is None:
        return None
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, tuple(t.cpu() for t in carry))
    return tuple(torch.cat([part[k] for part in parts], dim=1) for k in range(len(carry)))


def from_main(value):
    """Rank 0's value on every process (its validation NLL)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


# ---------------------------------------------------------------- the launcher


def launch(nproc: int, argv: list[str]) -> int:
    """`encore ARGV` in `nproc` processes on this machine, through torchrun's launcher
    (what `torchrun --standalone --nproc-per-node N` does); its exit code. Each
    process prints its own errors; this one adds a line only for a failure."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # torchrun's own habit, kinder to CPUs: the cores shared among the processes
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    for name in list(logging.root.manager.loggerDict):  # each has its own level: its notes are not ours to show
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    try:
        elastic_launch(config, sys.executable)("-m", "live.app.cli", *argv)
    except SignalException:
        return 130  # the processes were told to stop; rank 0 saved and said how to resume
    except ChildFailedError as failed:
        # the first to fail has an exit code; the agent stopped the others (by a signal: below 0)
        codes = sorted({failure.exitcode for failure in failed.failures.values() if failure.exitcode > 0})
        if codes == [130]:
            return 130
        raise TrainingProcessError(f"training stopped: a process of {nproc} failed (exit code "
                                   f"{', '.join(map(str, codes)) or 'a signal'}); its message is above") from None
    return 0
