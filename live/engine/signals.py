"""Ctrl-C held back across imports that cannot take it.

A KeyboardInterrupt raised inside a C extension's initialisation (numpy, onnxruntime)
comes out as an ImportError ("initialization failed"), a traceback where the musician
only asked to stop. Held back, the interrupt arrives the moment the import is done,
as a plain KeyboardInterrupt that the command line turns into one line.

Held by a handler that only takes note, not by masking the signal: masking holds it
back from one thread only, and the kernel hands it to any other (numpy's BLAS threads).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def interrupts_held():
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers, and only it receives interrupts
        return
    heard = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: heard.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if heard:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt
