"""The models shipped in models/ (installed as the package `live.models`): finding them
by name from any folder, and a one-line description of a model file for a picker."""

from __future__ import annotations

from pathlib import Path

from live.model.contract import ModelError, open_checked

DEFAULT_MODEL = "default.onnx"  # what plays: int8 weights, the faster step
FULL_PRECISION_DEFAULT = "default-fp32.onnx"  # the same model as trained: to fine-tune from
BASS_MODEL = "bass.onnx"  # the bass voice's (--bass): trained on bass lines, a quicker step


def default_model_path(name: str = DEFAULT_MODEL) -> Path:
    """A model shipped in models/, found inside the installed package (or this checkout)."""
    from importlib import resources

    try:
        shipped = resources.files("live.models") / name
        if shipped.is_file():
            return Path(str(shipped))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "models" / name


def model_path(name: str | Path) -> Path:
    """What a --model value names: a file, or else a model shipped in models/ by its name
    ('default', 'default-fp32' or 'default-fp32.onnx'), so no one needs the install path."""
    path = Path(name)
    if path.is_file() or path.parent != Path("."):
        return path
    shipped = default_model_path(path.name if path.suffix == ".onnx" else f"{path.name}.onnx")
    return shipped if shipped.is_file() else path


def describe_model_file(path: str | Path) -> str:
    """One line for a model picker: what the file is, without running it.

    'stream 2x256, int8 weights, 1.3 MB (plays by default)'; a file that cannot be
    used says why instead."""
    path = Path(path)
    try:
        _, info = open_checked(path)
    except ModelError as err:
        return f"not usable: {str(err).removeprefix(f'{path}: ')}"
    shape = f"{info.layers}x{info.hidden}" if info.layers and info.hidden else "?"
    if info.kind == "window":
        shape += f" over {info.window} events"
    line = f"{info.kind} {shape}, {info.weights} weights, {info.size_bytes / 1e6:.1f} MB"
    if path.resolve() == default_model_path().resolve():
        line += " (plays by default)"
    elif path.resolve() == default_model_path(BASS_MODEL).resolve():
        line += " (the bass voice's, trained on bass lines)"
    return line
