"""Work shared with forked processes (``rebuild --jobs``, ``verify --jobs``).

One interpreter works on one core. Rebuilding projections and verifying registers' chains
are independent pieces of work, so a command can hand some of them to processes forked from
itself: forked, they start at once (nothing to import again) and open connections of their
own (they touch none of the parent's). Each puts its result in a queue; ``Shared.results``
gathers them while they run (a result larger than a pipe's buffer would otherwise hold its
process forever), then joins them. A process that failed gives no result: the caller does
its share again itself, or raises.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from typing import Any


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


DEFAULT_JOBS_MAX = 4
"""At most this many processes unless told: each opens its own PostgreSQL pool (``pool_size``
connections, 5 by default), and the server's connections are a budget shared with the API."""


def default_jobs(*, one_writer: bool) -> int:
    """Processes a rebuild or a verification shares its work between unless told: one per
    usable core up to ``DEFAULT_JOBS_MAX``, or one where a single writer takes all the
    writes (a rebuild on SQLite: measured, a second process does not make it faster) or
    processes cannot be forked."""
    if one_writer or not can_fork():
        return 1
    return min(usable_cores(), DEFAULT_JOBS_MAX)


class Shared:
    """``target(*args, results)`` in a forked process for each ``args``."""

    def __init__(self, target: Callable[..., None], shares: Sequence[tuple[Any, ...]]) -> None:
        context = multiprocessing.get_context("fork")
        self._queue: Any = context.SimpleQueue()
        self._processes = [
            context.Process(target=target, args=(*args, self._queue)) for args in shares
        ]
        for process in self._processes:
            process.start()

    def results(self) -> list[Any]:
        """What the processes put in the queue (one result each, none from a process that
        failed), once they have all ended."""
        found: list[Any] = []
        while len(found) < len(self._processes):
            if not self._queue.empty():
                found.append(self._queue.get())
            elif not any(p.is_alive() for p in self._processes) and self._queue.empty():
                break
            else:
                time.sleep(0.005)
        for process in self._processes:
            process.join()
        return found
