"""The bulk writer: the Ledger's own handlers on aggregates kept in memory.

A ``Writer`` (see ``pipeline.py``) that the generator plugs into the Ledger when it is the
only writer of a new database: every command runs through its handler, exactly as the
pipeline would run it, on aggregates held here between commands (``held``: the Ledger loads
them from here first); ``flush()`` saves every event recorded since the last flush, in
command order, in transactions of at most ``FLUSH_LIMIT`` events. It takes no lock and
records no idempotency key. A command that fails leaves the held aggregates unusable:
generation stops, and nothing since the last flush is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application.commands import Command
from hacienda_ledger.application.handling import Unit
from hacienda_ledger.application.pipeline import Outcome, handling

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


class BulkWriter:
    """Commands run in memory, saved by ``flush`` (see the module docstring)."""

    #: Events per transaction at most: a first day of hundreds of aires is tens of thousands
    #: of events, and one psycopg pipelined insert that large stalled on PostgreSQL (client and
    #: server each waiting for the other, seen with 250 aires).
    FLUSH_LIMIT = 1000

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._live: dict[UUID, Aggregate] = {}
        self._collected: dict[UUID, int] = {}  # pending events already queued, by aggregate
        self._queued: list[Any] = []
        self._snapshots: list[StoredEvent] = []

    def held(self, aggregate_id: UUID) -> Aggregate | None:
        return self._live.get(aggregate_id)

    def run(self, command: Command, user: User | None) -> Outcome:
        """The command's handler, at once; its new events queued for the next flush."""
        unit = Unit(self.ledger)
        change = handling(command).handle(command, unit)
        unit.add(change)
        recorded: tuple[Any, ...] = ()
        for aggregate in unit.to_save():
            self._live[aggregate.id] = aggregate
            pending = aggregate.pending_events
            new = pending[self._collected.get(aggregate.id, 0) :]
            self._collected[aggregate.id] = len(pending)
            self._queued.extend(new)
            if aggregate is change.target:
                recorded = tuple(new)
            if type(aggregate) in self.ledger.snapshotting_intervals:
                self._snapshot(aggregate, new)
        target = change.target
        return Outcome(target.id, target.version, 0, change.result, events=recorded)

    def _snapshot(self, aggregate: Any, new: Sequence[Any]) -> None:
        """Snapshots where the pipeline takes them (after each command, when the schedule
        says so), from the register or aire in hand: encoded now, stored after its events."""
        ledger = self.ledger
        interval = ledger.snapshotting_intervals.get(type(aggregate))
        if not ledger.snapshots or not interval or not new:
            return
        if ledger.snapshot_schedule.due(aggregate, interval, new[0].originator_version):
            snapshot = type(aggregate).Snapshot.take(aggregate)
            self._snapshots.append(ledger.snapshots.mapper.to_stored_event(snapshot))
            ledger.snapshot_schedule.taken(aggregate)

    def flush(self) -> int:
        """Save the queued events in command order; returns how many."""
        if not self._queued:
            return 0
        ledger = self.ledger
        for start in range(0, len(self._queued), self.FLUSH_LIMIT):
            ledger.record_events(self._queued[start : start + self.FLUSH_LIMIT])
        for aggregate_id in self._collected:
            self._live[aggregate_id].collect_events()
        self._collected.clear()
        if ledger.snapshots and self._snapshots:
            ledger.snapshots.recorder.insert_events(self._snapshots)
        self._snapshots = []
        # Departed stays are written no more: let them go.
        for aggregate_id, aggregate in list(self._live.items()):
            if isinstance(aggregate, Stay) and not aggregate.is_open:
                del self._live[aggregate_id]
        written, self._queued = len(self._queued), []
        return written

    def close(self) -> None:
        """Nothing is saved on close: what was not flushed is dropped."""
