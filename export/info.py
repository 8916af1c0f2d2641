"""What a model file is, read from its metadata through onnxruntime (no torch)."""

from __future__ import annotations

from pathlib import Path

from export.modelfile import open_model


def model_info(path: str | Path) -> dict:
    model = open_model(path)
    meta = model.meta
    return {
        "path": str(model.path),
        "kind": model.kind,
        "bytes": model.path.stat().st_size,
        "layers": meta.get("encore.layers"),
        "hidden": meta.get("encore.hidden"),
        "window": meta.get("encore.window"),
        "arch": meta.get("encore.arch"),
        "params": meta.get("encore.params"),
        "corpus": meta.get("encore.corpus"),
        "val_nll": meta.get("encore.val_nll"),
        "primers": len(model.primers),
        "train_events": meta.get("encore.train_events"),
        "created": meta.get("encore.created"),
        "vocab": meta.get("encore.vocab"),
        "inputs": {i.name: i.shape for i in model.session.get_inputs()},
        "outputs": {o.name: o.shape for o in model.session.get_outputs()},
    }


def format_info(info: dict) -> str:
    size = info["bytes"] / 1e6
    params = f", {int(info['params']):,} parameters" if info.get("params") else ""
    lines = [
        f"{info['path']}: {info['kind']} model, {size:.1f} MB{params}",
        f"  layers {info['layers']}, hidden {info['hidden']}, window {info['window']}",
    ]
    if info.get("arch"):
        lines.append(f"  arch: {info['arch']}")
    lines += [
        f"  corpus: {info.get('corpus') or 'unknown'}",
        f"  validation NLL: {info.get('val_nll') or 'unknown'} nats/event",
        f"  primers: {info['primers']}",
        f"  vocabulary: {info['vocab']}",
    ]
    if info.get("train_events"):
        lines.append(f"  trained on {int(info['train_events']):,} events, created {info.get('created')}")
    return "\n".join(lines)
