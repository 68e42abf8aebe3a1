"""Group commit: saves that arrive together share one transaction.

Every save of an application takes the events table's lock until it commits
(EVENTSOURCING-FACTS.md), so saves from different threads are serialised by the database
anyway. Here they queue instead: the thread that finds no save in progress becomes the
leader, takes every save waiting at that moment, and records their events in one
transaction (one table lock, one commit, one round of statements); the others wake with
their own recordings, and the oldest save still waiting when a batch ends leads the next
(one thread woken per batch: waiting on a lock instead woke each caller in turn). The
callers still hold their aggregates' locks, so two saves of one batch never touch the same
aggregate; a batch that the database refuses (a version or
idempotency conflict in one of them) is recorded again save by save, so that only the
culprit gets the ``IntegrityError``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording


class _Ticket:
    def __init__(self, events: ProcessingEvent[Any]) -> None:
        self.events = events
        self.done = False
        self.recordings: list[Recording[Any]] = []
        self.error: BaseException | None = None
        self.woken = threading.Event()  # set when recorded, or when its thread is to lead


class GroupCommit:
    """Record ``ProcessingEvent``s, several per transaction when they arrive together."""

    def __init__(self, record: Callable[[ProcessingEvent[Any]], list[Recording[Any]]]) -> None:
        self._record = record
        self._guard = threading.Lock()
        self._leading = False
        self._queue: list[_Ticket] = []
        self.transactions = 0  # for the benchmarks and tests: how many were needed
        self.saves = 0

    def record(self, events: ProcessingEvent[Any]) -> list[Recording[Any]]:
        """One leader at a time records; the others wait on their own ticket, woken when
        recorded or when the leader hands over to the oldest ticket still queued."""
        ticket = _Ticket(events)
        with self._guard:
            self._queue.append(ticket)
            leads = not self._leading
            self._leading = True
        if not leads:
            ticket.woken.wait()
        if not ticket.done:
            try:
                with self._guard:
                    batch, self._queue = self._queue, []
                self._run(batch)
            finally:
                self._hand_over()
        if ticket.error is not None:
            raise ticket.error
        return ticket.recordings

    def _hand_over(self) -> None:
        """The oldest save still waiting leads the next batch; none: nobody leads."""
        with self._guard:
            if self._queue:
                self._queue[0].woken.set()
            else:
                self._leading = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Lead without recording: saves queue until this is left (tests make batches so)."""
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

    def _run(self, batch: Sequence[_Ticket]) -> None:
        try:
            if len(batch) > 1 and self._together(batch):
                return
            for ticket in batch:
                self.transactions += 1
                try:
                    ticket.recordings = self._record(ticket.events)
                except Exception as error:
                    ticket.error = error
                ticket.done = True
                ticket.woken.set()
        finally:
            self.saves += len(batch)
            for ticket in batch:  # never leave a caller waiting
                if not ticket.done:
                    ticket.error, ticket.done = RuntimeError("save not run"), True
                ticket.woken.set()

    def _together(self, batch: Sequence[_Ticket]) -> bool:
        combined: ProcessingEvent[Any] = ProcessingEvent()
        for ticket in batch:
            combined.events.extend(ticket.events.events)
            combined.aggregates.update(ticket.events.aggregates)
        self.transactions += 1
        try:
            recordings = self._record(combined)
        except IntegrityError:
            return False  # nothing was recorded: each save on its own finds the culprit
        by_event = {id(r.domain_event): r for r in recordings}
        for ticket in batch:
            ticket.recordings = [by_event[id(e)] for e in ticket.events.events]
            ticket.done = True
            ticket.woken.set()
        return True
