"""The two networks, in torch (import this module only where torch is wanted).

stream: what encore plays live. An embedding, LSTM layers and a linear layer to the 388
    logits; its state is an input and an output, so the runtime takes one step per event
    and can snapshot and restore the state.
seed:   the original study's design, exactly: 388-way one-hot input, a bidirectional
    LSTM of 512 returning sequences, dropout 0.3, a bidirectional LSTM of 512 returning
    its last output, a dense layer to 388 (softmax lives in the loss). It reads the last
    W = 50 events and predicts the next one, starting over for every event.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from live.core import vocab

class StreamNet(nn.Module):
    def __init__(self, layers: int, hidden: int, embed: int, dropout: float):
        super().__init__()
        self.layers, self.hidden = layers, hidden
        self.embed = nn.Embedding(vocab.VOCAB_SIZE, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab.VOCAB_SIZE)

    def zero_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape, device = (self.layers, batch, self.hidden), self.out.weight.device  # wherever it trains
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, events: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        y, (h_out, c_out) = self.lstm(self.embed(events), (h, c))
        return self.out(self.drop(y)), h_out, c_out


class SeedNet(nn.Module):
    def __init__(self, hidden: int = 512, dropout: float = 0.3):
        super().__init__()
        self.first = nn.LSTM(vocab.VOCAB_SIZE, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.second = nn.LSTM(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, vocab.VOCAB_SIZE)

    def forward(self, events: torch.Tensor) -> torch.Tensor:
        sequences, _ = self.first(F.one_hot(events, vocab.VOCAB_SIZE).float())
        _, (h, _) = self.second(self.drop(sequences))
        # Keras' Bidirectional(LSTM) last output: forward's final state beside
        # backward's final state (the one it reaches at the window's first event).
        return self.out(torch.cat([h[0], h[1]], dim=-1))


def build_model(config: dict) -> nn.Module:
    if config["arch"] == "stream":
        return StreamNet(config["layers"], config["hidden"], config["embed"], config["dropout"])
    return SeedNet(config["hidden"], config["dropout"])


def describe(config: dict) -> str:
    if config["arch"] == "stream":
        return (f"stream: embedding {config['embed']} -> LSTM {config['layers']}x{config['hidden']} "
                f"-> dropout {config['dropout']} -> linear {vocab.VOCAB_SIZE}")
    return (f"seed: one-hot {vocab.VOCAB_SIZE} -> BiLSTM {config['hidden']} (sequences) -> dropout "
            f"{config['dropout']} -> BiLSTM {config['hidden']} -> dense {vocab.VOCAB_SIZE}, "
            f"window {config['window']}")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_optimizer(model: nn.Module, config: dict) -> torch.optim.Optimizer:
    if config["optimizer"] == "rmsprop":
        # Keras' RMSprop defaults, as the study trained: rho 0.9, epsilon 1e-7.
        return torch.optim.RMSprop(model.parameters(), lr=config["lr"], alpha=0.9, eps=1e-7)
    return torch.optim.Adam(model.parameters(), lr=config["lr"])


def make_schedule(optimizer: torch.optim.Optimizer, config: dict, floor: float):
    """A plateau makes smaller steps: after each validation no better than the best so
    far (patience 0: any improvement counts), the rate is multiplied by lr_decay, down to
    `floor` times where it began. None where lr_decay does not decay (the seed arch)."""
    decay = config.get("lr_decay", 1.0)
    if not decay < 1.0:
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=decay, patience=0, threshold=0.0, threshold_mode="abs",
        min_lr=config["lr"] * floor, eps=0.0)
