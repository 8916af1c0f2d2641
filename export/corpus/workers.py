"""Worker processes for a corpus build: spawned, not forked (a fork of a process with
MIDI or JACK threads can hang in the child on a lock whose thread is gone, and macOS
and Windows have no fork), and out of reach of the signals meant for the build.

A worker leaves the terminal's process group, so Ctrl-C, or a SIGTERM sent to the
group, reaches only the build: it keeps what is done and ends its workers itself. (A
worker killed by the group's SIGTERM while it waits for work dies holding the pool's
queue lock, and the pool then hangs in terminate: seen here, once in five runs under
load.) A worker whose build is gone (SIGKILL, a crash) leaves within a second."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

PARENT_CHECK_SECONDS = 1.0


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    threading.Thread(target=_leave_with_the_parent, args=(parent,), daemon=True).start()


def _leave_with_the_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


@contextmanager
def ordered_map(jobs: int) -> Iterator[Callable[..., Iterator]]:
    """Yields map(work, items, chunksize): results in the items' order, from `jobs`
    spawned processes (one: this process, no pool). Leaving the block ends the workers."""
    if jobs <= 1:
        yield lambda work, items, chunksize=1: map(work, items)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
        def mapped(work: Callable, items: Iterable, chunksize: int = 8) -> Iterator:
            return pool.imap(work, items, chunksize=chunksize)

        yield mapped
