"""The `encore` command's entry point, kept free of imports: a Ctrl-C in the moment the
program is still loading (numpy, mido, onnxruntime: a few tenths of a second) ends it
with one line and exit code 130, as it does once the program runs, not a traceback."""

import sys


def main() -> int:
    from live.signals import interrupts_held

    try:
        with interrupts_held():  # numpy's and onnxruntime's own start-up cannot take one
            from live.app.cli import main as run
    except KeyboardInterrupt:
        print("encore: interrupted while starting", file=sys.stderr)
        return 130
    return run()
