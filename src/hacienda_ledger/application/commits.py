"""Group commit: saves that arrive together share one transaction.

Every save of an application takes the events table's lock until it commits
(EVENTSOURCING-FACTS.md), so saves from different threads are serialised by the database
anyway. Here they queue instead: the thread that finds no save in progress becomes the
leader, takes every save waiting at that moment, and records their events in one
transaction (one table lock, one commit, one round of statements); the others wake with
their own recordings. The callers still hold their aggregates' locks, so two saves of one
batch never touch the same aggregate; a batch that the database refuses (a version or
idempotency conflict in one of them) is recorded again save by save, so that only the
culprit gets the ``IntegrityError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording


class _Ticket:
    def __init__(self, events: ProcessingEvent[Any]) -> None:
        self.events = events
        self.done = False
        self.recordings: list[Recording[Any]] = []
        self.error: BaseException | None = None


class GroupCommit:
    """Record ``ProcessingEvent``s, several per transaction when they arrive together."""

    def __init__(self, record: Callable[[ProcessingEvent[Any]], list[Recording[Any]]]) -> None:
        self._record = record
        self._guard = threading.Lock()
        self._leader = threading.Lock()
        self._queue: list[_Ticket] = []
        self.transactions = 0  # for the benchmarks and tests: how many were needed
        self.saves = 0

    def record(self, events: ProcessingEvent[Any]) -> list[Recording[Any]]:
        ticket = _Ticket(events)
        with self._guard:
            self._queue.append(ticket)
        with self._leader:
            if not ticket.done:
                with self._guard:
                    batch, self._queue = self._queue, []
                self._run(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.recordings

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
        finally:
            self.saves += len(batch)
            for ticket in batch:  # never leave a caller waiting
                if not ticket.done:
                    ticket.error, ticket.done = RuntimeError("save not run"), True

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
        return True
