"""The command queue: per-aggregate serialisation and group commit in one primitive.

Every command of a process is put in one queue. The thread that finds nobody leading leads:
it takes every command waiting at that moment (a batch) and runs it (``run_batch``: lock the
aggregates the batch writes, run each command on the same loaded aggregates in arrival
order, save everything in one transaction). The other callers wait on their own job; when a
batch ends, the oldest job still waiting is woken to lead the next one (one thread woken per
batch: waiting on a lock instead woke each caller in turn, to find its job done).

So commands on one register run one after the other on the register in hand (the register's
numbering never races), and commands arriving together, on any aggregates, share one lock
round and one commit. ``held`` keeps the queue from running while a test lines jobs up.

A batch that failed because the database is away (``spreads``) fails the jobs that queued
behind it too: each would otherwise wait for that batch, then lead one of its own that
waits as long to fail (a request's time then grew with the queue, 5 s and more).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Job(Generic[T]):
    """One caller's piece of work, and what became of it."""

    def __init__(self, work: T) -> None:
        self.work = work
        self.done = False
        self.value: object = None
        self.error: BaseException | None = None
        self._woken = threading.Event()  # set when done, or when its thread is to lead

    def succeed(self, value: object) -> None:
        self.value, self.done = value, True
        self._woken.set()

    def fail(self, error: BaseException) -> None:
        self.error, self.done = error, True
        self._woken.set()

    def result(self) -> object:
        """What the work gave its caller: its value, or its error raised."""
        assert self.done
        if self.error is not None:
            raise self.error
        return self.value


class CommandQueue(Generic[T]):
    """One leader at a time runs every waiting job as a batch (see the module docstring)."""

    def __init__(
        self,
        run_batch: Callable[[Sequence[Job[T]]], None],
        spreads: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        self._run_batch = run_batch
        self._spreads = spreads
        self._guard = threading.Lock()
        self._leading = False
        self._waiting: list[Job[T]] = []
        self.batches = 0  # for the benchmarks and tests: how many batches were run
        self.jobs = 0

    def run(self, work: T) -> object:
        """Queue the work, wait until a batch has run it (leading one if nobody does), and
        return its value or raise its error."""
        job = Job(work)
        with self._guard:
            self._waiting.append(job)
            leads = not self._leading
            self._leading = True
        if not leads:
            job._woken.wait()
        if not job.done:
            try:
                with self._guard:
                    batch, self._waiting = self._waiting, []
                self._run(batch)
                self._spread(batch)
            finally:
                self._hand_over()
        return job.result()

    @property
    def leading(self) -> bool:
        """Whether a thread is running batches."""
        with self._guard:
            return self._leading

    @property
    def waiting(self) -> int:
        """How many jobs wait for the next batch."""
        with self._guard:
            return len(self._waiting)

    def _run(self, batch: Sequence[Job[T]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        try:
            self._run_batch(batch)
        finally:
            for job in batch:  # never leave a caller waiting on a job nobody ran
                if not job.done:
                    job.fail(RuntimeError("the command was not run"))

    def _spread(self, batch: Sequence[Job[T]]) -> None:
        """A batch failed by an error that ``spreads`` (the database is away: the next
        batch would only wait as long to fail the same way): every job waiting now fails
        with it at once."""
        error = next((j.error for j in batch if j.error and self._spreads(j.error)), None)
        if error is None:
            return
        with self._guard:
            waiting, self._waiting = self._waiting, []
        for job in waiting:
            job.fail(error)

    def _hand_over(self) -> None:
        """The oldest job still waiting leads the next batch; none: nobody leads."""
        with self._guard:
            if self._waiting:
                self._waiting[0]._woken.set()
            else:
                self._leading = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Lead without running: jobs queue until this is left (tests make batches so)."""
        while True:
            with self._guard:
                if not self._leading:
                    self._leading = True
                    break
            time.sleep(0.001)
        try:
            yield
        finally:
            self._hand_over()
