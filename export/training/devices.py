"""Where training runs (--device) and in what precision (--precision), told in one line.

A device asked for but absent is not an error: training falls back to the CPU and says
so, since a run set up on a laptop should still start on a machine without its GPU.
Mixed precision is torch.autocast: the weights and the optimizer stay fp32, the
matrix products run in bf16 or fp16; fp16 needs a GradScaler (its gradients underflow).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class Placement:
    device: object  # torch.device
    precision: str  # "fp32", "bf16" or "fp16": what runs, not what was asked
    note: str | None  # the one line to show, None where nothing is worth saying

    @property
    def scaled(self) -> bool:
        """fp16 on CUDA: the loss is scaled so small gradients survive."""
        return self.precision == "fp16"

    def autocast(self):
        import torch

        if self.precision == "fp32":
            return nullcontext()  # not autocast(enabled=False): today's CPU path, untouched
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)


def place(asked_device: str = "cpu", asked_precision: str = "fp32", local_rank: int | None = None) -> Placement:
    """The device and precision to train with. `local_rank` (a DDP process's) picks
    its own GPU: cuda means cuda:LOCAL_RANK there."""
    import torch

    device, notes = _device(asked_device, local_rank, torch)
    precision, said = _precision(asked_precision, device, torch)
    notes += said
    where = _describe(device, torch)
    if asked_device == "auto" and device.type != "cpu":
        notes.insert(0, f"training on {where}")
    elif precision != "fp32" and not notes:
        notes.append(f"training on {where}")
    if precision != "fp32":
        notes.append(f"{precision} mixed precision" + (" with a gradient scaler" if precision == "fp16" else ""))
    return Placement(device, precision, "; ".join(notes) if notes else None)


def _device(asked: str, local_rank: int | None, torch) -> tuple[object, list[str]]:
    cpu = torch.device("cpu")
    kind, _, index = asked.partition(":")
    if asked == "cpu":
        return cpu, []
    if asked == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank or 0), []
        if _mps_available(torch):
            return torch.device("mps"), []
        return cpu, []
    if kind == "mps":
        if _mps_available(torch):
            return torch.device("mps"), []
        return cpu, [f"mps asked for, but torch sees no Apple GPU (torch {torch.__version__}); training on the CPU"]
    # cuda or cuda:N
    if not torch.cuda.is_available():
        return cpu, [f"{asked} asked for, but torch sees no CUDA device (torch {torch.__version__}); "
                     "training on the CPU"]
    count = torch.cuda.device_count()
    if local_rank is not None:
        return torch.device("cuda", local_rank % count), []  # each process its own GPU
    number = int(index) if index else 0
    if number >= count:
        return cpu, [f"{asked} asked for, but torch sees {count} CUDA device{'s' if count > 1 else ''} "
                     f"(cuda:0..cuda:{count - 1}); training on the CPU"]
    return torch.device("cuda", number), []


def _precision(asked: str, device, torch) -> tuple[str, list[str]]:
    if asked == "fp32":
        return "fp32", []
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        if asked == "auto":
            return ("bf16" if bf16 else "fp16"), []
        if asked == "bf16" and not bf16:
            return "fp16", [f"{_describe(device, torch)} has no bf16; fp16 instead"]
        return asked, []
    if asked == "auto":
        return "fp32", []  # a CPU's bf16 is slower than its fp32 unless it has AMX: only when asked
    if device.type == "cpu" and asked == "bf16":
        return "bf16", []
    return "fp32", [f"--precision {asked} needs a CUDA GPU here; training in fp32"]


def _describe(device, torch) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return "the CPU"


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
