"""Each architecture's training defaults, without torch: `encore train --help` shows
them from here, and default_config() starts from them, so the two never disagree."""

# Defaults for the command line: stream sized for one step <= 0.3 ms in onnxruntime on
# 2 cores (2 x 256: 0.19 ms measured). Batches of 16 lanes x 128 events train faster on
# a CPU core than 32 x 256 (4,400 vs 3,200 events/s measured, and 4x the updates per
# event). The learning rate halves after an epoch that does not improve (lr_decay).
# seed as the study had it.
DEFAULTS = {
    "stream": {"layers": 2, "hidden": 256, "embed": 256, "dropout": 0.1, "window": 128,
               "batch": 16, "optimizer": "adam", "lr": 2e-3, "lr_decay": 0.5, "val_events": 50_000},
    "seed": {"layers": 2, "hidden": 512, "embed": 0, "dropout": 0.3, "window": 50,
             "batch": 64, "optimizer": "rmsprop", "lr": 1e-3, "lr_decay": 1.0,
             # Every event costs a 50-step BiLSTM pass: validate on fewer.
             "val_events": 3_000},
}


def default_text(key: str) -> str:
    """'(default 2)' where both architectures agree, else '(default: stream 128, seed 50)';
    'stream.embed' is one architecture's; transpose and stretch are the augmentation's."""
    from export.corpus.augment import DEFAULT_STRETCH, DEFAULT_TRANSPOSE

    if key == "transpose":
        return f"(default {DEFAULT_TRANSPOSE})"
    if key == "stretch":
        return f"(default {DEFAULT_STRETCH:g}: {1 - DEFAULT_STRETCH:g}..{1 + DEFAULT_STRETCH:g})"
    if "." in key:
        arch, key = key.split(".")
        return f"(default {DEFAULTS[arch][key]})"
    stream, seed = DEFAULTS["stream"][key], DEFAULTS["seed"][key]
    if stream == seed:
        return f"(default {stream:g})" if isinstance(stream, float) else f"(default {stream})"
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (stream, seed)]
    return f"(default: stream {shown[0]}, seed {shown[1]})"
