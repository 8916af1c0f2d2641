"""Worker processes for a corpus build: spawned, not forked (a fork of a process with
MIDI or JACK threads can hang in the child on a lock whose thread is gone, and macOS
and Windows have no fork), and out of reach of the signals meant for the build.

A worker leaves the terminal's process group, so Ctrl-C, or a SIGTERM sent to the
group, reaches only the build: it keeps what is done and ends its workers itself. (A
multiprocessing.Pool worker killed by the group's SIGTERM while it waited for work died
holding the pool's queue lock, and the pool then hung in terminate: seen here, once in
five runs under load.) A worker whose build is gone (SIGKILL, a crash) leaves within a
second. A worker that dies on a file (killed for memory, a crash in a parser) costs that
file, not the build: the file is tried once more alone, and if it kills that worker
too it is reported as lost, and the build goes on."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
PARENT_CHECK_SECONDS = 1.0
IN_FLIGHT_PER_WORKER = 4  # files handed out ahead: the workers never wait, memory stays flat


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    threading.Thread(target=_leave_with_the_parent, daemon=True).start()


def _leave_with_the_parent() -> None:
    parent = multiprocessing.parent_process()
    while parent is not None and parent.is_alive():
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)


def _close(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)  # a file being read finishes; nothing new starts


@contextmanager
def ordered_map(jobs: int) -> Iterator[Callable[..., Iterator]]:
    """Yields map(work, items, lost): work(item) for each item, in the items' order, from
    `jobs` spawned processes (one: this process, no pool); lost(item) stands for the
    result of an item whose worker died on it twice. Leaving the block ends the workers."""
    if jobs <= 1:
        yield lambda work, items, lost=None: map(work, items)
        return
    pools: list[ProcessPoolExecutor] = []

    def mapped(work: Callable[..., T], items: Iterable, lost: Callable[..., T]) -> Iterator[T]:
        pending = collections.deque(items)
        while pending:
            pool = _pool(jobs)
            pools.append(pool)
            flight: collections.deque = collections.deque()
            try:
                while pending or flight:
                    while pending and len(flight) < jobs * IN_FLIGHT_PER_WORKER:
                        item = pending.popleft()
                        flight.append((item, pool.submit(work, item)))
                    item, future = flight[0]
                    result = future.result()
                    flight.popleft()
                    yield result
            except BrokenProcessPool:
                # a worker died: every file in flight is back to be read, the first alone
                _close(pool)
                first = flight[0][0]
                pending.extendleft(reversed([item for item, _ in list(flight)[1:]]))
                yield _alone(work, first, lost)
            finally:
                _close(pool)

    try:
        yield mapped
    finally:
        for pool in pools:
            _close(pool)


def _alone(work: Callable[..., T], item, lost: Callable[..., T]) -> T:
    """The item in a worker of its own: its result, or lost(item) if it kills that one too."""
    pool = _pool(1)
    try:
        return pool.submit(work, item).result()
    except BrokenProcessPool:
        return lost(item)
    finally:
        _close(pool)
