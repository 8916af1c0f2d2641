"""Signals, in one place: stop requests, clean-ups no signal may cut short, and Ctrl-C
held back across imports that cannot take it.

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


# The signals that ask a performance to stop, by the name a musician reads in its line:
# Ctrl-C, a service manager's TERM, the terminal closing (HUP, not on Windows).
STOP_SIGNALS = tuple(
    (sig, name) for sig, name in [
        (signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C"), (getattr(signal, "SIGHUP", None), "SIGHUP"),
    ] if sig is not None
)


def on_stop_signals(handler, interrupt: bool = True) -> None:
    """handler(name) on each stop signal (interrupt=False leaves Ctrl-C as it is)."""
    for sig, name in STOP_SIGNALS:
        if interrupt or sig != signal.SIGINT:
            signal.signal(sig, lambda *_, n=name: handler(n))


def leave_interrupts_to_the_screen() -> None:
    """In the TUI's engine process: Ctrl-C belongs to the screen, which quits cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ignore_stop_signals(interrupt: bool = True) -> None:
    """From here on no stop signal can cut a clean-up short (or kill a guardian)."""
    for sig, _ in STOP_SIGNALS:
        if interrupt or sig != signal.SIGINT:
            signal.signal(sig, signal.SIG_IGN)


@contextmanager
def terminate_as_interrupt():
    """SIGTERM raises KeyboardInterrupt inside the block, so a job killed politely saves
    what it saves on Ctrl-C (training's checkpoint)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def stop_requests():
    """Ctrl-C and SIGTERM only noted inside the block: it yields a list that holds the
    signals' names once any came (one of several training processes stops where all of
    them agree to, not where the signal lands)."""
    heard: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield heard
        return
    wanted = [(sig, name) for sig, name in STOP_SIGNALS if sig in (signal.SIGINT, signal.SIGTERM)]
    previous = {sig: signal.signal(sig, lambda *_, n=name: heard.append(n)) for sig, name in wanted}
    try:
        yield heard
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class TimeLimit(Exception):
    """Raised inside a time_limit block when its time is up."""


@contextmanager
def time_limit(seconds: float):
    """Raise TimeLimit inside the block after `seconds` (Unix main thread only: a
    worker process's or a one-job build's; elsewhere no limit)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    armed = [True]

    def expire(signum, frame):
        if armed[0]:
            raise TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    # Again every second after the first: a raise that lands where Python swallows it
    # (a garbage-collector callback, say) is not the end of the guard.
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
