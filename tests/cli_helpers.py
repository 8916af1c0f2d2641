"""Running `encore` as a user would, and what a one-line error looks like.

run_main() calls the CLI's main(argv) in this process: the same parsing, handlers and
one-line errors as the console command, without a fresh interpreter's second or two of
imports. encore() is the real process, for what only a process has (the entry point,
signals, exit codes from the interpreter): each entry point keeps one test through it.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass


@dataclass
class Result:
    """What subprocess.run would have given: exit code and the text of both streams."""

    returncode: int
    stdout: str
    stderr: str


def encore(*args, cwd=None, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "live.app.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
    )


# what a command may change for the rest of the process (play installs, then ignores)
_SIGNALS = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]


def run_main(*args, cwd=None) -> Result:
    """`encore ARGS` in-process. Both Python's streams and file descriptors 1 and 2 are
    captured, so a line a native library (onnxruntime, JACK) writes still counts."""
    from live.app.cli import main

    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    folder = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryFile("w+") as native_out, tempfile.TemporaryFile("w+") as native_err:
        try:
            if cwd is not None:
                os.chdir(cwd)
            with _fd_redirected(1, native_out), _fd_redirected(2, native_err), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = _exit_code(main, [str(a) for a in args], err)
        finally:
            os.chdir(folder)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        native_out.seek(0)
        native_err.seek(0)
        return Result(code, out.getvalue() + native_out.read(), err.getvalue() + native_err.read())


def _exit_code(main, argv, err) -> int:
    """main's return value, or the code argparse (--help, --version, a usage error) exits with."""
    try:
        return main(argv)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=err)  # as the interpreter does with sys.exit("text")
        return 1


@contextlib.contextmanager
def _fd_redirected(fd: int, into):
    (sys.stdout if fd == 1 else sys.stderr).flush()  # what was written before stays out
    saved = os.dup(fd)
    os.dup2(into.fileno(), fd)
    try:
        yield
    finally:
        (sys.stdout if fd == 1 else sys.stderr).flush()
        os.dup2(saved, fd)
        os.close(saved)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
