"""Counting baselines: unigram up to 7-gram with interpolated Kneser-Ney, pure numpy.

A network's NLL means little alone; beside what counting achieves on the same split it
says how much the network learned beyond local statistics, so the baseline should be
the strongest counting method there is: modified interpolated Kneser-Ney (Chen and
Goodman), with three discounts per order for n-grams seen once, twice, or more often:

    p_k(w | h) = max(c(h w) - D(c), 0) / c(h)  +  gamma(h) * p_{k-1}(w | h')
    gamma(h)   = (D1 N1(h .) + D2 N2(h .) + D3 N3+(h .)) / c(h)
    Y = n1 / (n1 + 2 n2),  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,  D3 = 3 - 4Y n4/n3

The top order counts occurrences; the lower orders it backs off to count continuations
(how many different events precede h w), and order 0 is uniform over the 388 events.
A context never seen hands its whole mass down. Pieces start with BOS padding, so "the
start of a piece" is a context too.

An n-gram of event ids is one int64: ids are base-389 digits (388 events + BOS), and
389^7 < 2^63, which is why 7 is the highest order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live.core import vocab

from export.evaluation.scoring import Scores

V = vocab.VOCAB_SIZE
BOS = V
BASE = V + 1
MAX_ORDER = 7
MIN_DISCOUNT = 1e-3  # keeps every event possible, even after a deterministic context
CHUNK = 2048


@dataclass
class CountTable:
    """n-gram counts of one order: sorted ids, their counts, and per-context sums."""

    ids: np.ndarray
    counts: np.ndarray
    contexts: np.ndarray  # sorted unique context ids
    context_totals: np.ndarray
    context_mass: np.ndarray  # D1 N1(h .) + D2 N2(h .) + D3 N3+(h .): what h hands down
    discounts: np.ndarray  # per entry: D(c) of its count

    @classmethod
    def from_ids(cls, ids: np.ndarray, counts: np.ndarray) -> "CountTable":
        contexts, first = np.unique(ids // BASE, return_index=True)
        d = modified_discounts(counts)
        discounts = d[np.minimum(counts, 3) - 1]
        return cls(ids, counts, contexts, np.add.reduceat(counts, first), np.add.reduceat(discounts, first),
                   discounts)

    def interpolate(self, lower: np.ndarray, context_ids: np.ndarray) -> np.ndarray:
        """p_k for a batch of positions, given p_{k-1} [P, V] and each position's context."""
        slot = np.minimum(np.searchsorted(self.contexts, context_ids), len(self.contexts) - 1)
        found = self.contexts[slot] == context_ids
        total = np.where(found, self.context_totals[slot], 1).astype(np.float64)
        backoff = np.where(found, self.context_mass[slot] / total, 1.0)
        result = lower * backoff[:, None]

        rows = np.flatnonzero(found)
        lo = np.searchsorted(self.ids, context_ids[rows] * BASE)
        hi = np.searchsorted(self.ids, context_ids[rows] * BASE + BASE)
        spans = hi - lo
        row_of = np.repeat(rows, spans)
        entry = np.repeat(lo - np.cumsum(spans) + spans, spans) + np.arange(spans.sum())
        result[row_of, self.ids[entry] % BASE] += (self.counts[entry] - self.discounts[entry]) / total[row_of]
        return result


def modified_discounts(counts: np.ndarray) -> np.ndarray:
    """[D1, D2, D3+] from the count-of-counts, each kept inside (0, its count). Where
    the counts say nothing (no n-gram seen once, say) the counts are trusted: D is tiny."""
    n1, n2, n3, n4 = (np.count_nonzero(counts == k) for k in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2) if n1 + n2 else 0.0
    raw = [
        1 - 2 * y * n2 / n1 if n1 else MIN_DISCOUNT,
        2 - 3 * y * n3 / n2 if n2 else MIN_DISCOUNT,
        3 - 4 * y * n4 / n3 if n3 else MIN_DISCOUNT,
    ]
    return np.array([np.clip(d, MIN_DISCOUNT, k - MIN_DISCOUNT) for k, d in zip((1, 2, 3), raw)])


class NgramModel:
    def __init__(self, max_order: int = MAX_ORDER):
        if not 1 <= max_order <= MAX_ORDER:
            raise ValueError(f"n-gram order {max_order} is outside 1..{MAX_ORDER}")
        self.max_order = max_order
        self.occurrences: list[CountTable] = []  # index k-1: order k, top-order counts
        self.continuations: list[CountTable] = []  # index k-1: order k, backoff counts

    def fit(self, pieces: list[np.ndarray]) -> "NgramModel":
        if not sum(len(p) for p in pieces):
            raise ValueError("an n-gram model needs at least one training event")
        grams = [self._gram_ids(piece) for piece in pieces]
        for order in range(1, self.max_order + 1):
            ids = np.concatenate([g[order - 1] for g in grams])
            unique, counts = np.unique(ids, return_counts=True)
            self.occurrences.append(CountTable.from_ids(unique, counts))
            if order > 1:
                # Continuations of (order-1)-grams: distinct predecessors of each.
                suffixes, preceded = np.unique(unique % BASE ** (order - 1), return_counts=True)
                self.continuations.append(CountTable.from_ids(suffixes, preceded))
        return self

    def score(self, pieces: list[np.ndarray]) -> dict[int, Scores]:
        """Scores for every order 1..max_order, on each event after a piece's first."""
        results = {n: Scores() for n in range(1, self.max_order + 1)}
        for piece in pieces:
            if len(piece) < 2:
                continue
            contexts = self._context_ids(piece)  # [orders, positions]
            for start in range(1, len(piece), CHUNK):
                stop = min(len(piece), start + CHUNK)
                targets = piece[start:stop]
                lower = np.full((stop - start, V), 1.0 / V)
                for order in range(1, self.max_order + 1):
                    ctx = contexts[order - 1, start:stop]
                    top = self.occurrences[order - 1].interpolate(lower, ctx)
                    results[order].add(np.log(top), targets)
                    if order < self.max_order:
                        lower = self.continuations[order - 1].interpolate(lower, ctx)
        return results

    def _padded(self, piece: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(self.max_order - 1, BOS, np.int64), np.asarray(piece, np.int64)])

    def _context_ids(self, piece: np.ndarray) -> np.ndarray:
        """Row k-1: the id of the k-1 events before each position (row 0: the empty context)."""
        padded, pad = self._padded(piece), self.max_order - 1
        rows = [np.zeros(len(piece), np.int64)]
        for length in range(1, self.max_order):
            rows.append(_window_ids(padded, pad - length, length, len(piece)))
        return np.stack(rows)

    def _gram_ids(self, piece: np.ndarray) -> list[np.ndarray]:
        """Ids of the k-grams ending at each event, for k = 1..max_order."""
        padded, pad = self._padded(piece), self.max_order - 1
        return [_window_ids(padded, pad - k + 1, k, len(piece)) for k in range(1, self.max_order + 1)]


def _window_ids(padded: np.ndarray, first: int, length: int, count: int) -> np.ndarray:
    """Base-389 ids of padded[first + i : first + i + length] for i in 0..count-1."""
    ids = np.zeros(count, np.int64)
    for j in range(length):
        ids = ids * BASE + padded[first + j : first + j + count]
    return ids


def baseline_scores(train: list[np.ndarray], scored: list[np.ndarray], max_order: int = MAX_ORDER) -> dict[int, Scores]:
    return NgramModel(max_order).fit(train).score(scored)
