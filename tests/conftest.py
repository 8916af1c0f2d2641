import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the tests' own helper modules

from live.core import codec  # noqa: E402
from live.core.notes import Note  # noqa: E402
from live.model.randmodels import build_stream_model, build_window_model  # noqa: E402

pytest_plugins = ["training_fixtures"]  # one_thread, toy_path


def scale_primer(start: int) -> list[int]:
    notes = [Note(start + i, i * 0.25, i * 0.25 + 0.2, 90) for i in range(8)]
    return codec.encode(notes)


PRIMERS = [scale_primer(60), scale_primer(48), scale_primer(72)]


@pytest.fixture(scope="session")
def stream_model_path(tmp_path_factory) -> Path:
    """A small random-weight stream model meeting the contract, with three primers."""
    path = tmp_path_factory.mktemp("models") / "tiny_stream.onnx"
    return build_stream_model(
        path, layers=2, hidden=32, embedding=16, seed=3, primers=PRIMERS, sharpness=6.0
    )


@pytest.fixture(scope="session")
def beat_model_path(tmp_path_factory) -> Path:
    """The tiny stream model as a beat model: its steps are 1/48 beat."""
    path = tmp_path_factory.mktemp("models") / "tiny_beats.onnx"
    return build_stream_model(
        path, layers=2, hidden=32, embedding=16, seed=3, primers=PRIMERS, sharpness=6.0,
        metadata={"encore.time": "beats", "encore.steps_per_beat": "48"},
    )


@pytest.fixture(scope="session")
def window_model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny_window.onnx"
    return build_window_model(path, hidden=16, window=12, seed=4, primers=PRIMERS)
