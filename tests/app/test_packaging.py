"""A plain (non-editable) install carries everything the runtime reads from disk."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    import setuptools  # noqa: F401  (the test extra installs it: a missing one must fail, not skip)

    out = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: setuptools reuses a checkout's build/ folder, whose stale
    # files would land in the wheel and hide a missing one.
    source = tmp_path_factory.mktemp("source") / "encore"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "runs", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
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
    assert "live/app/tui/encore.tcss" in names and "live/app/tui/help.md" in names
    assert any(n.startswith("export/") for n in names)
    assert not any(n.startswith(("tests/", "runs/", "tools/")) for n in names)


def test_a_plain_install_finds_the_default_model_from_any_folder(wheel, tmp_path):
    """Installed from the wheel (not editable), run from a folder with no models/ in it:
    the runtime finds the shipped default model inside the installed package."""
    target = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                             str(target), wheel.filename], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import live, live.model.runtime as m; model = m.load_model(); "
             "print(live.__file__); print(model.info.path); print(model.kind, len(model.info.primers))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    package, model_path, summary = result.stdout.splitlines()
    assert package.startswith(str(target)) and model_path.startswith(str(target))
    assert model_path.endswith("default.onnx")
    kind, primers = summary.split()
    assert kind == "stream" and int(primers) >= 8
    # the installed command itself, through its entry point
    command = subprocess.run([str(target / "bin" / "encore"), "info"], cwd=elsewhere, capture_output=True,
                             text=True, timeout=120, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert command.returncode == 0, command.stderr[-2000:]
    assert "default.onnx" in command.stdout and "stream" in command.stdout
