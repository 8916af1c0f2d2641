"""encore training: networks, the loop, checkpoints."""
