"""encore model: the model contract and its onnxruntime adapter."""
