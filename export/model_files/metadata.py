"""Writing a model file's metadata_props (reading them is live.model.contract's job)."""

from __future__ import annotations

from pathlib import Path


def write_metadata(path: Path, meta: dict[str, str]) -> None:
    """Replace a model file's metadata_props with `meta` (needs the onnx package)."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
