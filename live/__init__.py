"""encore's runtime: vocabulary, codec, MIDI files and (later) the live engine.

Nothing here imports torch: the instrument runs on onnxruntime alone.
"""

__version__ = "0.1.0"
