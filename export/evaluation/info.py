"""What a model file is, read from its metadata through onnxruntime (no torch)."""

from __future__ import annotations

from pathlib import Path

from live.core.wording import count
from live.model import load_model


def model_info(path: str | Path) -> dict:
    """Checked as the instrument checks it: a file `encore play` refuses, info refuses too."""
    model = load_model(path)
    meta = model.info.metadata
    return {
        "path": str(model.info.path),
        "kind": model.kind,
        "bytes": model.info.size_bytes,
        "layers": meta.get("encore.layers"),
        "hidden": meta.get("encore.hidden"),
        "window": meta.get("encore.window"),
        "arch": meta.get("encore.arch"),
        "params": meta.get("encore.params"),
        "corpus": meta.get("encore.corpus"),
        "val_nll": meta.get("encore.val_nll"),
        "primers": len(model.info.primers),
        "train_events": meta.get("encore.train_events"),
        "created": meta.get("encore.created"),
        "vocab": meta.get("encore.vocab"),
        "weights": meta.get("encore.weights", "float32"),
        "time": model.info.time,
        "steps_per_beat": model.info.steps_per_beat,
        "pad_event": model.info.pad_event,
        "inputs": {i.name: i.shape for i in model.session.get_inputs()},
        "outputs": {o.name: o.shape for o in model.session.get_outputs()},
    }


def _whole(text) -> str:
    """A metadata number as 1,234,567; text that is not one is shown as it is (it only
    informs: a model that says "banana" parameters still plays)."""
    text = str(text)
    if text.isascii() and text.isdigit() and len(text) < 30:
        return f"{int(text):,}"
    return repr(text if len(text) <= 40 else text[:37] + "...")


def format_info(info: dict) -> str:
    size = info["bytes"] / 1e6
    params = f", {_whole(info['params'])} parameters" if info.get("params") else ""
    lines = [
        f"{info['path']}: {info['kind']} model, {size:.1f} MB{params}",
        f"  layers {info['layers']}, hidden {info['hidden']}, window {info['window']}, "
        f"weights {info['weights']}",
    ]
    if info.get("arch"):
        lines.append(f"  arch: {info['arch']}")
    if info.get("time") == "beats":
        lines.append(f"  time: beats, {info['steps_per_beat']} steps a beat (plays at any tempo, on its grid)")
    else:
        lines.append("  time: seconds, 10 ms steps (the tempo moves only the quantise grid)")
    lines += [
        f"  corpus: {info.get('corpus') or 'unknown'}",
        f"  validation NLL: {info.get('val_nll') or 'unknown'} nats/event",
        f"  primers: {info['primers']}",
        f"  vocabulary: {info['vocab']}",
    ]
    if info.get("train_events"):
        lines.append(f"  trained on {_whole(info['train_events'])} events, created {info.get('created')}")
    return "\n".join(lines)


def corpus_info(path: str | Path) -> dict:
    """A built corpus: its sources with licences, and pieces/notes/events per split."""
    from export.corpus.building import SPLITS, load_corpus

    corpus = load_corpus(path)
    splits = {}
    for name in SPLITS:
        pieces = corpus.split(name)
        splits[name] = {"pieces": len(pieces), "notes": int(sum(len(p.notes) for p in pieces)),
                        "events": int(sum(len(p.events) for p in pieces)),
                        "seconds": float(sum(p.notes[:, 2].max() - p.notes[:, 1].min()
                                             for p in pieces if len(p.notes)))}
    provenance = corpus.provenance
    # The provenance only informs: what a hand-made or older corpus lacks is shown as "?"
    sources = [source for source in _listed(provenance.get("sources")) if isinstance(source, dict)]
    meters = provenance.get("meters_kept")
    left = provenance.get("left_out_by_meter")
    return {"path": str(path), "sources": sources, "splits": splits,
            "bpm": provenance.get("bpm_for_scores_without_tempo"), "seed": provenance.get("seed"),
            "skyline": provenance.get("skyline"), "skipped": len(_listed(provenance.get("skipped"))),
            "created": provenance.get("created"), "time": corpus.time,
            "meters_kept": [str(m) for m in meters] if isinstance(meters, list) else None,
            "left_out_by_meter": ({str(m): n for m, n in left.items() if isinstance(n, int)}
                                  if isinstance(left, dict) else None)}


def _listed(value) -> list:
    return value if isinstance(value, list) else []


def _source_line(source: dict) -> str:
    def counted(key: str, noun: str) -> str:
        value = source.get(key)
        return count(value, noun) if isinstance(value, int) else f"? {noun}s"

    return (f"  source {source.get('name', '?')}: {counted('pieces', 'piece')}, {counted('notes', 'note')}, "
            f"{source.get('skipped', '?')} skipped; licence: {source.get('licence', '?')}")


def format_corpus_info(info: dict) -> str:
    if info.get("time") == "beats":
        timing = "in beats (48 steps a beat, from each piece's bar line)"
    else:
        timing = f"in seconds (tempo for scores without one {info.get('bpm')})"
    lines = [f"{info['path']}: corpus built {info.get('created') or '?'} {timing} "
             f"(split seed {info.get('seed')}, skyline {info.get('skyline')})"]
    if info.get("meters_kept"):
        left = info.get("left_out_by_meter") or {}
        dropped = ", ".join(f"{n} in {m}" for m, n in sorted(left.items(), key=lambda kv: -kv[1]))
        lines.append(f"  meters kept: {', '.join(info['meters_kept'])}" + (f"; left out: {dropped}" if dropped else ""))
    lines += [_source_line(source) for source in info["sources"]]
    lines.append(f"  {'split':<6} {'pieces':>7} {'notes':>9} {'events':>10} {'hours':>7}")
    for name, split in info["splits"].items():
        lines.append(f"  {name:<6} {split['pieces']:>7,} {split['notes']:>9,} {split['events']:>10,} "
                     f"{split['seconds'] / 3600:>7.1f}")
    return "\n".join(lines)
