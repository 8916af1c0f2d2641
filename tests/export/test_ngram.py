"""Counting baselines: exact where the answer is known, sensible where it is not."""

import numpy as np
import pytest

from export.evaluation.ngram import NgramModel, baseline_scores

PATTERN = np.array([356, 60, 300, 188, 62, 300, 190, 64, 300, 192])


def test_unigram_nll_on_its_training_data_is_the_entropy_of_the_counts():
    sequence = np.tile(PATTERN, 30)
    counts = np.bincount(sequence[1:])  # the first event is never scored
    p = counts[counts > 0] / counts.sum()
    entropy = -(p * np.log(p)).sum()
    scores = NgramModel(1).fit([sequence]).score([sequence])[1]
    assert scores.nll_per_event == pytest.approx(entropy, abs=0.01)


def test_a_deterministic_sequence_is_nearly_certain_from_three_grams_on():
    train, held_out = np.tile(PATTERN, 40), np.tile(PATTERN, 20)
    results = baseline_scores([train], [held_out], max_order=7)
    assert results[1].nll_per_event > 1.5
    assert results[2].nll_per_event > 0.3  # 300 is followed by three different notes-offs
    for order in range(3, 8):
        assert results[order].nll_per_event < 0.05
        assert results[order].accuracy > 0.99
    assert results[3].events == len(held_out) - 1


def test_distributions_sum_to_one_and_unseen_events_keep_some_probability():
    rng = np.random.default_rng(1)
    train = [rng.integers(0, 40, size=300) for _ in range(5)]
    model = NgramModel(4).fit(train)
    unseen = np.array([5, 7, 387, 250, 5, 7])  # 387 and 250 never occur in training
    scores = model.score([unseen])
    for order, s in scores.items():
        assert np.isfinite(s.nll_per_event), order
    # A random training set: higher orders cannot beat chance by much on fresh data.
    fresh = [rng.integers(0, 40, size=300)]
    fresh_scores = model.score(fresh)
    assert fresh_scores[1].nll_per_event == pytest.approx(np.log(40), abs=0.1)
    assert fresh_scores[4].nll_per_event < np.log(388)


def test_probabilities_of_one_position_sum_to_one():
    from export.evaluation.ngram import V

    rng = np.random.default_rng(2)
    model = NgramModel(3).fit([rng.integers(0, 20, size=500)])
    contexts = model._context_ids(np.array([3, 4, 5, 6]))
    lower = np.full((4, V), 1.0 / V)
    for order in range(1, 4):
        top = model.occurrences[order - 1].interpolate(lower, contexts[order - 1])
        assert np.allclose(top.sum(axis=1), 1.0)
        if order < 3:
            lower = model.continuations[order - 1].interpolate(lower, contexts[order - 1])
            assert np.allclose(lower.sum(axis=1), 1.0)


def reference_kneser_ney(train, scored, max_order):
    """Modified interpolated Kneser-Ney written out with dicts, position by position:
    an independent check of the vectorised tables."""
    from collections import Counter

    from export.evaluation.ngram import BOS, V, modified_discounts

    pad = [BOS] * (max_order - 1)
    raw = {k: Counter() for k in range(1, max_order + 1)}
    for piece in train:
        seq = pad + list(piece)
        for i in range(max_order - 1, len(seq)):
            for k in range(1, max_order + 1):
                raw[k][tuple(seq[i - k + 1 : i + 1])] += 1
    cont = {k: Counter(g[1:] for g in raw[k + 1]) for k in range(1, max_order)}

    def table(counts):
        d = modified_discounts(np.array(list(counts.values())))
        by_context = {}
        for gram, c in counts.items():
            by_context.setdefault(gram[:-1], {})[gram[-1]] = c
        return by_context, d

    tables = {("raw", k): table(raw[k]) for k in raw} | {("cont", k): table(cont[k]) for k in cont}

    def prob(w, history, order, kind):
        if order == 0:
            return 1.0 / V
        lower = prob(w, history, order - 1, "cont")
        by_context, d = tables[(kind, order)]
        context = tuple(history[len(history) - order + 1 :]) if order > 1 else ()
        successors = by_context.get(context)
        if not successors:
            return lower
        total = sum(successors.values())
        discount = lambda c: d[min(c, 3) - 1]
        gamma = sum(discount(c) for c in successors.values()) / total
        c = successors.get(w, 0)
        return (max(c - discount(c), 0) if c else 0) / total + gamma * lower

    results = {}
    for n in range(1, max_order + 1):
        nll, count = 0.0, 0
        for piece in scored:
            seq = pad + list(piece)
            for i in range(max_order, len(seq)):
                nll -= np.log(prob(seq[i], seq[:i], n, "raw"))
                count += 1
        results[n] = nll / count
    return results


def test_the_vectorised_model_matches_the_formula_written_out():
    rng = np.random.default_rng(5)
    motif = rng.integers(0, 12, size=7)
    train = [np.concatenate([motif, rng.integers(0, 12, size=20), motif]) for _ in range(6)]
    scored = [np.concatenate([motif, rng.integers(0, 14, size=15)])]
    expected = reference_kneser_ney(train, scored, 4)
    got = NgramModel(4).fit(train).score(scored)
    for n in range(1, 5):
        assert got[n].nll_per_event == pytest.approx(expected[n], rel=1e-9), n
