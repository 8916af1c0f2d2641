"""encore's training side: corpus building, training and ONNX export.

May import torch, but only inside the functions that need it, so `encore --help`
and the runtime work without the `train` extra installed.
"""
