"""encore training: training: networks, the loop, checkpoints, progress."""
