"""encore corpus: training corpora: MIDI folders and music21 scores to performance events."""
