"""Held-out scores of a shipped model file, beside counting baselines on the same split.

Runs on onnxruntime alone: what is scored is the file the instrument plays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from live.core.wording import count
from live.model import load_model

from export.corpus.building import load_corpus
from export.errors import CorpusError
from export.evaluation import batch_logits
from export.evaluation.scoring import Scores, cap_events


@dataclass
class Evaluation:
    model: Path
    kind: str
    corpus: Path
    split: str
    pieces: int
    scores: Scores
    baselines: dict[str, Scores] = field(default_factory=dict)

    @property
    def best_baseline(self) -> str | None:
        if not self.baselines:
            return None
        return min(self.baselines, key=lambda name: self.baselines[name].nll_per_event)

    def as_dict(self) -> dict:
        best = self.best_baseline
        record = {
            "model": str(self.model), "kind": self.kind, "corpus": str(self.corpus), "split": self.split,
            "pieces": self.pieces, "scores": self.scores.as_dict(),
            "baselines": {name: s.as_dict() for name, s in self.baselines.items()},
            "best_baseline": best,
        }
        if best:
            record["gain_over_best_baseline"] = 1 - self.scores.nll_per_event / self.baselines[best].nll_per_event
        return record


def evaluate(model_path: str | Path, corpus_path: str | Path, split: str = "test", baseline: str | None = None,
             max_order: int = 7, threads: int | None = None, max_events: int | None = None) -> Evaluation:
    """`max_events` scores only the split's first whole pieces up to about that many
    events (model and baselines alike): a window model costs a 50-event pass per event."""
    model = load_model(model_path, threads)
    corpus = load_corpus(corpus_path)
    pieces = cap_events([p.events for p in corpus.split(split)], max_events)
    if not pieces:
        raise CorpusError(f"{corpus_path}: the {split} split has no pieces; evaluate another split")
    result = Evaluation(Path(model_path), model.kind, Path(corpus_path), split, len(pieces),
                        batch_logits.score(model, pieces))
    if baseline == "ngram":
        from export.evaluation.ngram import baseline_scores

        train = [p.events for p in corpus.split("train")]
        for order, scores in baseline_scores(train, pieces, max_order).items():
            result.baselines["unigram" if order == 1 else f"{order}-gram"] = scores
    return result


def format_evaluation(result: Evaluation) -> str:
    lines = [
        f"{result.model} ({result.kind}) on {result.corpus}, {result.split} split: "
        f"{count(result.pieces, 'piece')}, {count(result.scores.events, 'event')}, "
        f"{count(result.scores.notes, 'note')}",
        f"  {'':<10} {'NLL/event':>9} {'NLL/note':>9} {'top-1':>7}",
    ]
    rows = [("model", result.scores)] + list(result.baselines.items())
    for name, s in rows:
        lines.append(f"  {name:<10} {s.nll_per_event:>9.3f} {s.nll_per_note:>9.3f} {s.accuracy:>7.1%}")
    best = result.best_baseline
    if best:
        gain = 1 - result.scores.nll_per_event / result.baselines[best].nll_per_event
        lines.append(f"  best baseline: {best} ({result.baselines[best].nll_per_event:.3f} nats/event); "
                     f"the model is {abs(gain):.0%} {'lower' if gain >= 0 else 'higher'}")
    return "\n".join(lines)
