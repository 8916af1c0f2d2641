"""Running `encore` as a user would, and what a one-line error looks like."""

import subprocess
import sys


def encore(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "live.app.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=60,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
