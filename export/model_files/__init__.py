"""encore model_files: ONNX files: export from a checkpoint, import for fine-tuning, int8 quantisation."""
