"""A learnable toy corpus built in memory: scales and rhythms repeated piece after piece."""

from __future__ import annotations

import numpy as np

from export.corpus.building import Corpus, Piece, assign_splits

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
RHYTHM = [0.25, 0.25, 0.5]  # seconds between onsets, cycling


def toy_piece(name: str, repeats: int = 6, velocity: int = 80) -> Piece:
    rows, t = [], 0.0
    for i in range(repeats * len(SCALE)):
        step = RHYTHM[i % len(RHYTHM)]
        rows.append((SCALE[i % len(SCALE)], t, t + step * 0.8, velocity))
        t += step
    return Piece(name, "toy", np.array(rows, dtype=np.float64))


def toy_corpus(pieces: int = 12, repeats: int = 6) -> Corpus:
    corpus = Corpus([toy_piece(f"toy{k}", repeats) for k in range(pieces)],
                    {"sources": [{"name": "toy scales"}]})
    for piece, label in zip(corpus.pieces, assign_splits([p.name for p in corpus.pieces], seed=0)):
        piece.split = label
    return corpus
