"""encore evaluation: scoring model files: NLL, n-gram baselines, music statistics, info."""
