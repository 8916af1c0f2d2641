"""A plain (non-editable) install carries everything the runtime reads from disk."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (found,) = out.glob("encore-*.whl")
    return zipfile.ZipFile(found)


def test_the_wheel_ships_the_models_the_example_and_the_screen_styles(wheel):
    names = set(wheel.namelist())
    assert "live/models/__init__.py" in names
    for model in (ROOT / "models").glob("*.onnx"):
        assert f"live/models/{model.name}" in names
    assert "live/examples/ode_to_joy.mid" in names
    assert "live/tui.tcss" in names
    assert any(n.startswith("export/") for n in names)
    assert not any(n.startswith(("tests/", "runs/", "tools/")) for n in names)
